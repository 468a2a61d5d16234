namespace SecureComms.Samples.GatewayYarp.Identity;

/// <summary>The <c>SignIn</c> section: where end users sign in, which audience their tokens get, and who they are.</summary>
internal sealed class SignInSettings
{
    public const string SectionName = "SignIn";

    /// <summary>Port of the sign-in listener on 127.0.0.1 (HTTPS, no client certificate).</summary>
    public int Port { get; set; }

    /// <summary>The <c>aud</c> of user tokens: the gateway's JwtBearer Audience.</summary>
    public string Audience { get; set; } = "https://gateway.example.org";

    /// <summary>Users by user name (the token's <c>sub</c>).</summary>
    public Dictionary<string, UserSettings> Users { get; } = new(StringComparer.Ordinal);
}

/// <summary>One development user.</summary>
internal sealed class UserSettings
{
    public string? Password { get; set; }

    public string? Name { get; set; }

    public IList<string> Roles { get; } = [];
}
