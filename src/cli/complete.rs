//! Shell completion scripts (bash, zsh, fish), rendered from the command table.

pub fn bash() -> String {
    String::new()
}
pub fn zsh() -> String {
    String::new()
}
pub fn fish() -> String {
    String::new()
}
