"""The Masterclass runtime: web app, storage, progress, xAPI and the command line."""
