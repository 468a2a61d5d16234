namespace SecureComms;

/// <summary>The handler a client gets for a capability it has not configured: hands every request on unchanged.</summary>
internal sealed class PassThroughHandler : DelegatingHandler;
