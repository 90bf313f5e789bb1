"""Imaging: DICOM objects received by the listener, STOW-RS and uploads, indexed for query and retrieval."""
