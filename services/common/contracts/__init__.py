"""Wire contracts: the only thing two services share. Change a contract and its tests together."""
