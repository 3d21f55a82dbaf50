"""fediverse-node: a federated ActivityPub server whose posts are illustrated by a local diffusion model."""

__version__ = "0.1.0"
SOFTWARE_NAME = "fediverse-node"
REPOSITORY_URL = "https://github.com/fediverse-node/fediverse-node"
