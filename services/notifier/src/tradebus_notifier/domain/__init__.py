"""Webhook delivery rules, free of frameworks: topic patterns, Standard Webhooks signing,
the retry schedule, outcome classification and the CloudEvents body."""
