"""Writing a batch of usage events: store.write.batch.store_batch is the one entry point; the
other modules are its steps."""
