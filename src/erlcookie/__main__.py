from erlcookie.cli import main

main()
