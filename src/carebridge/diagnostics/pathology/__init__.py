"""Pathology: whole-slide images and micrographs of a pathology (SM) order, served as Deep Zoom tiles."""
