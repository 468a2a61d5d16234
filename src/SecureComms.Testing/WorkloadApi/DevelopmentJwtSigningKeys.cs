using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace SecureComms.Testing;

/// <summary>
/// The keys that sign the JWT-SVIDs of one development trust domain (ECDSA P-256, ES256), shared by every
/// <see cref="DevelopmentWorkloadApiServer"/> of that domain. The newest key signs; earlier keys stay in the JWT bundle
/// so that tokens they signed still validate. <b>Development and tests only.</b>
/// </summary>
public sealed class DevelopmentJwtSigningKeys : IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<SigningKey> _keys = [];
    private readonly List<Func<CancellationToken, Task>> _listeners = [];
    private bool _disposed;

    /// <summary>Creates a set with one key.</summary>
    public DevelopmentJwtSigningKeys() => AddKey();

    /// <summary>The key ids in the bundle, oldest first; the last one signs new JWT-SVIDs.</summary>
    public IReadOnlyList<string> KeyIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _keys.Select(k => k.KeyId)];
            }
        }
    }

    /// <summary>The key id of the key that signs new JWT-SVIDs.</summary>
    public string CurrentKeyId
    {
        get
        {
            lock (_lock)
            {
                return _keys[^1].KeyId;
            }
        }
    }

    /// <summary>
    /// Adds a new signing key (earlier keys stay in the bundle) and pushes the new JWT bundle to every open
    /// <c>FetchJWTBundles</c> stream of every server sharing this set.
    /// </summary>
    /// <returns>The new key id.</returns>
    public async Task<string> RotateAsync(CancellationToken cancellationToken = default)
    {
        string kid = AddKey();
        Func<CancellationToken, Task>[] listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
        }

        foreach (Func<CancellationToken, Task> listener in listeners)
        {
            await listener(cancellationToken).ConfigureAwait(false);
        }

        return kid;
    }

    /// <summary>
    /// The JWT bundle as the Workload API sends it: a JWK set (RFC 7517) whose keys carry <c>kid</c> and
    /// <c>"use": "jwt-svid"</c> (SPIFFE Trust Domain and Bundle §4.2.2), UTF-8 JSON.
    /// </summary>
    public byte[] CreateJwks()
    {
        var keys = new List<Dictionary<string, string>>();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (SigningKey key in _keys)
            {
                ECParameters p = key.Ecdsa.ExportParameters(includePrivateParameters: false);
                keys.Add(new Dictionary<string, string>
                {
                    ["kty"] = "EC",
                    ["crv"] = "P-256",
                    ["x"] = Base64Url.EncodeToString(p.Q.X!),
                    ["y"] = Base64Url.EncodeToString(p.Q.Y!),
                    ["kid"] = key.KeyId,
                    ["use"] = "jwt-svid",
                });
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["keys"] = keys });
    }

    /// <summary>Disposes every key.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (SigningKey key in _keys)
            {
                key.Ecdsa.Dispose();
            }

            _listeners.Clear();
        }
    }

    internal SigningCredentials CurrentSigningCredentials
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _keys[^1].Credentials;
            }
        }
    }

    /// <summary>Every key of the bundle (public parts), to validate JWT-SVIDs as a consumer of the bundle would.</summary>
    internal IReadOnlyList<SecurityKey> ValidationKeys
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return [.. _keys.Select(k => k.Credentials.Key)];
            }
        }
    }

    internal IDisposable Subscribe(Func<CancellationToken, Task> onRotated)
    {
        lock (_lock)
        {
            _listeners.Add(onRotated);
        }

        return new Subscription(this, onRotated);
    }

    private string AddKey()
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string kid = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));
        var securityKey = new ECDsaSecurityKey(ecdsa) { KeyId = kid };
        lock (_lock)
        {
            if (_disposed)
            {
                ecdsa.Dispose();
                throw new ObjectDisposedException(nameof(DevelopmentJwtSigningKeys));
            }

            _keys.Add(new SigningKey(kid, ecdsa, new SigningCredentials(securityKey, SecurityAlgorithms.EcdsaSha256)));
        }

        return kid;
    }

    private sealed record SigningKey(string KeyId, ECDsa Ecdsa, SigningCredentials Credentials);

    private sealed class Subscription(DevelopmentJwtSigningKeys owner, Func<CancellationToken, Task> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._listeners.Remove(listener);
            }
        }
    }
}
