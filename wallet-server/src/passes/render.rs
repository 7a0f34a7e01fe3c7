//! Rendering a pass text as a QR code image (being written).
