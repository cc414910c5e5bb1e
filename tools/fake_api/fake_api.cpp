// Placeholder: the fake API is being written.
