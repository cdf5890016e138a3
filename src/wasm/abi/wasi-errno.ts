/** The WASI preview 1 errno values the host answers (the full list is in the WASI spec). */
export const WASI_ESUCCESS = 0;
export const WASI_EBADF = 8;
export const WASI_EFAULT = 21;
export const WASI_EINVAL = 28;
export const WASI_EIO = 29;
export const WASI_ENOSYS = 52;
export const WASI_ENOTDIR = 54;
export const WASI_ENOTSOCK = 57;
export const WASI_ENOTSUP = 58;
export const WASI_ESPIPE = 70;
/** The module's policy does not grant what the call needs (docs/design/policies.md). */
export const WASI_ENOTCAPABLE = 76;
