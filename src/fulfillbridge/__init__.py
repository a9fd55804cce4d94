"""fulfillbridge: a bridge between Shopify stores and the operations that fulfil their orders."""

__version__ = "0.1.0"
__all__ = ["__version__"]
