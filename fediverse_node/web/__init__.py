"""HTTP routes: discovery, actors, posts, collections and HTML pages. Thin: they call store/protocol."""
