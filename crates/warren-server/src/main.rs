//! `warren`: the broker binary.

fn main() {
    println!("warren: the broker is not assembled yet; see README.md for the status");
}
