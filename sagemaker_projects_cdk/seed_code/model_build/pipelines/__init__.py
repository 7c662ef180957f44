"""Model-build code of this SageMaker project: the abalone pipeline and its tools."""
