//! Unit tests of the observer: canned exchanges in, verdicts out, no socket.
