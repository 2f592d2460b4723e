//! File-name-safe names: image ids and method or label names become parts of output
//! file names (`arrays/<method>/...`, `gallery_<method>_...`, explain's figures).

/// A file-name-safe stem for an image id or name (`a/b.jpg` -> `a_b.jpg`).
pub fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A file-name-safe, unique key for each name, in order (`a`, `a_2`, `a_3`, ...); a name
/// that leaves nothing usable, or would start with a dot, gets an `m` in front.
pub fn unique_keys(names: &[&str]) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for n in names {
        let mut k = file_stem(n);
        if k.is_empty() || k.starts_with('.') {
            k = format!("m{k}");
        }
        let base = k.clone();
        let mut i = 2;
        while used.contains(&k) {
            k = format!("{base}_{i}");
            i += 1;
        }
        used.push(k);
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_safe_and_unique() {
        assert_eq!(file_stem("a/b c.jpg"), "a_b_c.jpg");
        assert_eq!(
            unique_keys(&["x/y", "x y", "", ".hidden"]),
            ["x_y", "x_y_2", "m", "m.hidden"]
        );
    }
}
