//! Pass signing keys: persisted, rotated, published (being written).
