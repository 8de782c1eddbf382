"""Applications built on the estimators: topics, similarity, ..."""
