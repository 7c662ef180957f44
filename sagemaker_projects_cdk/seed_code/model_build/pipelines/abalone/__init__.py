"""The abalone regression pipeline: preprocessing, XGBoost training, evaluation, registration."""
