//! `lockwatch::memory`, on the pages of a real file mapped into this process.

use std::io::Write;

/// The resident size of the mapping at `address`, from `/proc/self/smaps`.
fn resident_kb(address: usize) -> usize {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
    let mut in_mapping = false;
    for line in smaps.lines() {
        if let Some((start, _)) = line
            .split_whitespace()
            .next()
            .and_then(|r| r.split_once('-'))
            && let Ok(start) = usize::from_str_radix(start, 16)
        {
            in_mapping = start == address;
        } else if in_mapping && let Some(rss) = line.strip_prefix("Rss:") {
            return rss
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .expect("Rss in kB");
        }
    }
    panic!("no mapping at {address:#x}");
}

#[test]
fn paging_out_gives_back_a_mapped_file_and_keeps_every_byte() {
    const LEN: usize = 8 << 20;
    // A file on disk (not tmpfs, whose pages have nowhere to go without swap), written out so that its
    // pages are clean.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("mapped.bin");
    let content: Vec<u8> = (0..LEN).map(|i| (i * 7 % 251) as u8).collect();
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&content).unwrap();
    file.sync_all().unwrap();
    let file = std::fs::File::open(&path).unwrap();

    #[allow(unsafe_code)]
    // SAFETY: a fresh private read-only mapping of a file this test owns; it is only read through the
    // slice below and unmapped at the end.
    let address = unsafe {
        use std::os::fd::AsRawFd;
        let address = libc::mmap(
            std::ptr::null_mut(),
            LEN,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(address, libc::MAP_FAILED, "mmap");
        address
    };
    #[allow(unsafe_code)]
    // SAFETY: the mapping is LEN bytes long, readable, and lives until the munmap below.
    let mapped = unsafe { std::slice::from_raw_parts(address as *const u8, LEN) };

    assert!(mapped == content.as_slice(), "the mapping reads the file");
    let before = resident_kb(address as usize);
    assert!(
        before >= 7 * 1024,
        "read in full, the mapping is resident: {before} kB"
    );

    let advised = lockwatch::memory::page_out_mapped_files();
    assert!(
        advised >= LEN,
        "the mapping was among those paged out: {advised} bytes"
    );
    let after = resident_kb(address as usize);
    assert!(
        after < 1024,
        "paged out, the mapping holds {after} kB (before: {before} kB)"
    );

    // Every byte reads as before: the pages come back from the file.
    assert!(
        mapped == content.as_slice(),
        "the mapping still reads the file"
    );
    assert!(resident_kb(address as usize) >= 7 * 1024);

    #[allow(unsafe_code)]
    // SAFETY: `mapped` is not used after this; the range is the one mmap returned.
    unsafe {
        assert_eq!(libc::munmap(address, LEN), 0);
    }
}
