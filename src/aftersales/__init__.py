"""aftersales: an after-sales and dispute-resolution engine for marketplaces."""

__version__ = "0.1.0"
