"""Images: Pillow processing (generated images with provenance, sanitised uploads), thumbnails,
blurhash, XMP provenance, and content-hashed storage on the local disk. Imports only domain and config."""
