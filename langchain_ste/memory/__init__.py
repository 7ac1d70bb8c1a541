"""Long-term memory: durable trial stores, the Chroma index, embeddings and the run lock."""
