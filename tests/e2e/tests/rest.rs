//! The app at rest, as a person leaves it: with its window closed it ends WebKit's network process and
//! runs alone, and opening the window again starts WebKit anew and draws the same table.
//!
//! Runs the real app without WebDriver: ending the network process would end a WebDriver session, so the
//! app keeps it while one is attached (tests/tray.rs). The window is closed as a window manager does
//! (`WM_DELETE_WINDOW`) and opened again by a second launch; what it shows is read from the X screen.
//! Screenshots go to `target/e2e-shots/rest-*.png`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lockwatch_e2e::{
    Dav, Process, WAIT, app_binary, app_environment, home_with_config, main_window_shown,
    repo_root, shots_dir, until,
};

/// The names of the app's processes (the app first, then WebKit's, sorted).
fn processes(app: u32) -> Vec<String> {
    let mut names: Vec<String> = Process::tree(app).into_iter().map(|p| p.name).collect();
    let first = 1.min(names.len());
    names[first..].sort();
    names
}

/// The window's picture, saved as `rest-<name>.png`: its RGB pixels.
fn picture(window: &str, name: &str) -> Vec<u8> {
    let path = shots_dir().join(format!("rest-{name}.png"));
    let shot = Command::new("import")
        .args(["-window", window])
        .arg(&path)
        .stderr(Stdio::inherit())
        .status()
        .expect("ImageMagick's import");
    assert!(shot.success(), "import -window {window}");
    let pixels = Command::new("/usr/bin/convert")
        .arg(&path)
        .args(["-depth", "8", "rgb:-"])
        .output()
        .expect("ImageMagick's convert");
    assert!(pixels.status.success(), "convert {}", path.display());
    pixels.stdout
}

/// The window's picture once the page has drawn: two pictures a second apart that are alike and show
/// more than a blank page.
async fn drawn(window: &str, name: &str) -> Vec<u8> {
    let mut last = Vec::new();
    let start = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = picture(window, name);
        if alike(&now, &last) > 0.99 && colours(&now) > 20 {
            return now;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {name} to draw"
        );
        last = now;
    }
}

/// The share of pixels two pictures of the same size have in common (0 when the sizes differ).
fn alike(a: &[u8], b: &[u8]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let same = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .filter(|(x, y)| x == y)
        .count();
    same as f64 / (a.len() / 3) as f64
}

/// How many different colours a picture has.
fn colours(pixels: &[u8]) -> usize {
    pixels
        .chunks_exact(3)
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// Starts the app (a second launch hands over to the first and ends).
fn launch(app: &Path, home: &Path, config: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(app);
    command
        .envs(app_environment(home, config))
        .env_remove("WEBKIT_INSPECTOR_SERVER")
        .kill_on_drop(true);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_window_closed_the_app_runs_alone_and_its_window_comes_back_the_same() {
    let app = app_binary();
    let dav = Dav::start().await;
    dav.put("Budget 2026.xlsx").await;
    dav.lock("Budget 2026.xlsx", "Bob Builder").await;
    let (home, config) = home_with_config(&format!(
        "[[servers]]\nname = \"team\"\nkind = \"webdav\"\nurl = \"{}\"\nwatch = [\"Budget 2026.xlsx\"]\n",
        dav.url
    ));
    let mut first = launch(&app, home.path(), &config)
        .spawn()
        .expect("start the app");
    let pid = first.id().expect("the app's pid");

    let window = until("the window to open", main_window_shown).await;
    let before = drawn(&window, "1-open").await;
    assert_eq!(
        processes(pid),
        ["lockwatch-app", "WebKitNetworkPr", "WebKitWebProces"],
        "WebKit's web and network processes serve the window"
    );

    // Closed, the window goes with its web process; a few seconds later the network process ends too.
    let closed = Command::new("/usr/bin/python3")
        .arg(repo_root().join("tests/support/close_window.py"))
        .arg(&window)
        .status()
        .expect("close_window.py");
    assert!(closed.success(), "close_window.py: {closed}");
    until("the app to run alone", || {
        (processes(pid) == ["lockwatch-app"]).then_some(())
    })
    .await;
    assert!(main_window_shown().is_none(), "the window is gone");

    // A second launch opens the window in the running app: WebKit starts both processes anew, and the
    // window draws what it drew before.
    let second = tokio::time::timeout(WAIT, launch(&app, home.path(), &config).status())
        .await
        .expect("the second launch ends at once")
        .expect("start the app a second time");
    assert!(second.success(), "the second launch: {second}");
    let window = until("the window to open again", main_window_shown).await;
    let after = drawn(&window, "2-opened-again").await;
    assert_eq!(
        processes(pid),
        ["lockwatch-app", "WebKitNetworkPr", "WebKitWebProces"],
        "WebKit's processes were started anew"
    );
    let same = alike(&before, &after);
    assert!(
        same > 0.97,
        "the window opened again shows what it showed before: {:.1} % of the pixels alike (rest-1-open.png, rest-2-opened-again.png)",
        same * 100.0
    );

    first.kill().await.expect("end the app");
}
