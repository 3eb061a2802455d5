//! Looks for Debian's libspandsp with pkg-config. When it is there, links it and sets
//! `cfg(spandsp)`; when it is not, the crate still builds and says at run time what to install.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(spandsp)");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    match pkg_config::Config::new().probe("spandsp") {
        Ok(_) => println!("cargo::rustc-cfg=spandsp"),
        Err(err) => {
            let text = err.to_string();
            let reason: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            println!(
                "cargo::warning=spandsp not found by pkg-config, so dtmf-compare builds without it \
                 (install libspandsp-dev): {}",
                reason.join(" ")
            );
        }
    }
}
