"""What all three processes share: the contract, budgets, configuration, the wire and its messages,
and the results model. Nothing here imports torch or any other part of the package."""
