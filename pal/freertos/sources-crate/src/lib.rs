//! Intentionally empty: see Cargo.toml. Nothing here is compiled by the
//! OpenCSMP build; cargo is only asked where it unpacked the C sources.
