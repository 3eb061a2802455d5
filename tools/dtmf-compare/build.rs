//! Looks for Debian's libspandsp with pkg-config. When it is there, links it and sets
//! `cfg(spandsp)`; when it is not, the crate still builds and says at run time what to install.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(spandsp)");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    match pkg_config::Config::new().probe("spandsp") {
        Ok(_) => println!("cargo::rustc-cfg=spandsp"),
        Err(err) => println!(
            "cargo::warning=spandsp not found ({}); dtmf-compare builds without it. Install libspandsp-dev.",
            err.to_string()
                .lines()
                .next()
                .unwrap_or("pkg-config failed")
        ),
    }
}
