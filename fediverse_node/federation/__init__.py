"""Federation: the inbox, activity handlers, signed fetches of remote documents, and durable delivery."""
