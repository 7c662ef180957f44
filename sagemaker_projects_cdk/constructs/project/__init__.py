"""The project core: identity, encrypted storage, the data set."""
