namespace SecureComms;

/// <summary>A trust bundle could not be loaded; the message names the file and the problem.</summary>
internal sealed class TrustBundleException(string message, Exception? inner = null) : Exception(message, inner);
