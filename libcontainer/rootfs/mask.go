package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// readonlyPath bind-mounts a path onto itself read-only. The copy is made
// read-only, with everything mounted below it, before it is attached, so
// there is no moment where it is visible writable; its other flags are
// kept as they were.
func readonlyPath(root *os.File, path string) error {
	rel := relPath(path)
	if rel == "" {
		return errors.New("is the container's root; use root.readonly")
	}
	h, err := openInRoot(root, rel)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	return bindFd(h, h, true, unix.MOUNT_ATTR_RDONLY)
}

// masker hides paths: a directory under an empty read-only tmpfs, a file
// under the null device. The null device is the container's /dev/null only
// once it is checked to be the character device 1:3 — never a file or
// symlink the image put there (CVE-2025-31133) — and it is mounted by the
// very handle that was checked.
type masker struct {
	root *os.File
	null *os.File
	seen map[string]bool
}

func (mk *masker) close() {
	if mk.null != nil {
		mk.null.Close()
	}
}

func (mk *masker) mask(path string) error {
	rel := relPath(path)
	if rel == "" {
		return errors.New("is the container's root")
	}
	if mk.seen[rel] {
		return nil
	}
	h, err := openInRoot(mk.root, rel)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	st, err := fstat(h)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		tmpfs, err := emptyReadonlyTmpfs()
		if err != nil {
			return fmt.Errorf("empty tmpfs: %w", err)
		}
		defer tmpfs.Close()
		err = attachMount(tmpfs, h)
		if err != nil {
			return err
		}
	} else {
		null, err := mk.devNull()
		if err != nil {
			return err
		}
		if err := bindFd(null, h, false, 0); err != nil {
			return fmt.Errorf("bind /dev/null: %w", err)
		}
	}
	if mk.seen == nil {
		mk.seen = map[string]bool{}
	}
	mk.seen[rel] = true
	return nil
}

func (mk *masker) devNull() (*os.File, error) {
	if mk.null != nil {
		return mk.null, nil
	}
	h, err := openInRoot(mk.root, "dev/null")
	if err != nil {
		return nil, fmt.Errorf("open the container's /dev/null: %w", err)
	}
	if err := checkNode(h, unix.S_IFCHR, unix.Mkdev(1, 3)); err != nil {
		h.Close()
		return nil, fmt.Errorf("the container's /dev/null %w; refusing to mask with it", err)
	}
	mk.null = h
	return h, nil
}
