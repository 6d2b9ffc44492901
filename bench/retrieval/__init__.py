"""bench-retrieval: retrieval quality (recall@5, MRR@10) per language and per retriever
over samples/documents, with the labelled questions in `questions.jsonl`."""
