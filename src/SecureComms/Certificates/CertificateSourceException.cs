namespace SecureComms;

/// <summary>A workload certificate could not be loaded; the message names the file and the problem, never key material.</summary>
internal sealed class CertificateSourceException(string message, Exception? inner = null) : Exception(message, inner);
