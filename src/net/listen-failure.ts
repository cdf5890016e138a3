/**
 * Why binding a listening socket failed, in words for a one-line error, from its errno code.
 * The transport's own error and the sync service's (which names what the port was for) both
 * use it, so the reason is said once, not nested in another error's message.
 */
export function listenFailureReason(error: NodeJS.ErrnoException): string {
  if (error.code === "EADDRINUSE") return "address already in use (is another node running there?)";
  if (error.code === "EADDRNOTAVAIL") return "address not available on this machine";
  if (error.code === "EACCES") return "permission denied (ports below 1024 need privileges)";
  return error.message;
}
