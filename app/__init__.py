"""Qt wiring of NN Studio: application start-up, main window, document, commands, controllers."""
