namespace SecureComms.DevCert;

/// <summary>
/// A request to ask a central policy about, as a service would see it after authentication: the caller's SPIFFE ID,
/// the method, the path (<c>HttpRequest.Path</c>: percent-decoded by the server except <c>%2F</c>), and what the access
/// token and the verified user context carry.
/// </summary>
internal sealed record PolicyQuery(
    SpiffeId Caller,
    string Method,
    string Path,
    IReadOnlyList<string> Scopes,
    IReadOnlyList<KeyValuePair<string, string>> Claims,
    string? User,
    IReadOnlyList<KeyValuePair<string, string>> UserClaims)
{
    /// <summary>The policy's request, over the principal the service's authentication would produce (<see cref="PolicyPrincipal"/>).</summary>
    public PolicyRequest ToRequest() => new(Caller, Method, Path, PolicyPrincipal.Create(Caller, Scopes, Claims, User, UserClaims));

    /// <summary>The request line for people: <c>spiffe://example.org/orders GET /invoices</c>, then scopes, claims and user.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder($"{Caller} {Method} {Path}");
        if (Scopes.Count > 0)
        {
            text.Append(" scopes [").AppendJoin(' ', Scopes).Append(']');
        }

        foreach ((string type, string value) in Claims)
        {
            text.Append(" claim ").Append(type).Append('=').Append(value);
        }

        if (User is not null || UserClaims.Count > 0)
        {
            text.Append(" user ").Append(User ?? "(from user claims)");
            foreach ((string type, string value) in UserClaims)
            {
                text.Append(' ').Append(type).Append('=').Append(value);
            }
        }

        return text.ToString();
    }
}
