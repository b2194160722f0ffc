//! Nothing here: the benches are the `[[bench]]` targets of this package.
