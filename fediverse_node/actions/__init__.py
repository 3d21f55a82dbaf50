"""Local actions (create an account, publish a post): the same paths the CLI and the web use."""
