namespace SecureComms;

/// <summary>Names SecureComms registers with ASP.NET Core.</summary>
public static class SecureCommsDefaults
{
    /// <summary>The authentication scheme that turns the validated peer SVID into <c>HttpContext.User</c>: <c>SecureComms</c>.</summary>
    public const string AuthenticationScheme = "SecureComms";
}

/// <summary>Claim types SecureComms puts on the caller's principal.</summary>
public static class SecureCommsClaimTypes
{
    /// <summary>The calling workload's SPIFFE ID, e.g. <c>spiffe://example.org/orders</c>; also the identity's name.</summary>
    public const string SpiffeId = "spiffe_id";

    /// <summary>The calling workload's trust domain, e.g. <c>example.org</c>.</summary>
    public const string TrustDomain = "spiffe_trust_domain";
}
