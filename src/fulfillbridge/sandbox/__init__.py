"""The sandbox: a local twin of Shopify's Admin API for tests, demos and benchmarks."""
