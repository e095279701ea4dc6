//! `cargo xtask codegen`: generated code committed to the tree.

/// Regenerates (or with `check`, verifies) the AMQP method types.
pub fn amqp(check: bool) -> Result<(), String> {
    let _ = check;
    Ok(())
}
