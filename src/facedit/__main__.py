from facedit.cli import main

main()
