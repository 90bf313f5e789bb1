"""CareBridge: regional telemedicine platform."""

__version__ = "0.1.0"
