from fediverse_node.cli.main import main

main()
