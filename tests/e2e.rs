//! Black-box tests: the real `alpes` binary, real HTTP and WebSocket clients.
