using System.Text.Json;

namespace SecureComms.Tests.Identity;

/// <summary>SPIFFE IDs and trust domains are JSON strings, never objects (they reference each other: an object graph would cycle).</summary>
[TestClass]
public sealed class SpiffeJsonTests
{
    private sealed record Caller(SpiffeId Id, TrustDomain Domain);

    [TestMethod]
    public void ASpiffeIdAndATrustDomain_SerializeAsStrings_AndRoundTrip()
    {
        var caller = new Caller(SpiffeId.Parse("spiffe://example.org/orders"), TrustDomain.Parse("example.org"));

        string json = JsonSerializer.Serialize(caller);

        Assert.AreEqual("""{"Id":"spiffe://example.org/orders","Domain":"example.org"}""", json);
        Assert.AreEqual(caller, JsonSerializer.Deserialize<Caller>(json));
    }

    [TestMethod]
    public void EmptyValues_AreNull_AndNullReadsBackAsEmpty()
    {
        string json = JsonSerializer.Serialize(new Caller(default, default));

        Assert.AreEqual("""{"Id":null,"Domain":null}""", json);
        Caller read = JsonSerializer.Deserialize<Caller>(json)!;
        Assert.IsTrue(read.Id.IsEmpty);
        Assert.IsTrue(read.Domain.IsEmpty);
    }

    [TestMethod]
    public void AsDictionaryKeys_TheyAreTheirText()
    {
        var calls = new Dictionary<SpiffeId, int> { [SpiffeId.Parse("spiffe://example.org/orders")] = 3 };
        var domains = new Dictionary<TrustDomain, int> { [TrustDomain.Parse("example.org")] = 1 };

        Assert.AreEqual("""{"spiffe://example.org/orders":3}""", JsonSerializer.Serialize(calls));
        Assert.AreEqual("""{"example.org":1}""", JsonSerializer.Serialize(domains));
        Assert.AreEqual(3, JsonSerializer.Deserialize<Dictionary<SpiffeId, int>>("""{"spiffe://example.org/orders":3}""")![SpiffeId.Parse("spiffe://example.org/orders")]);
        Assert.AreEqual(1, JsonSerializer.Deserialize<Dictionary<TrustDomain, int>>("""{"example.org":1}""")![TrustDomain.Parse("example.org")]);
    }

    [TestMethod]
    [DataRow("""{"Id":"spiffe://Example.org/orders","Domain":"example.org"}""", DisplayName = "uppercase trust domain in the ID")]
    [DataRow("""{"Id":"https://example.org/orders","Domain":"example.org"}""", DisplayName = "not a spiffe URI")]
    [DataRow("""{"Id":{"Path":"/orders"},"Domain":"example.org"}""", DisplayName = "an object for the ID")]
    [DataRow("""{"Id":42,"Domain":"example.org"}""", DisplayName = "a number for the ID")]
    [DataRow("""{"Id":"spiffe://example.org/orders","Domain":"Example..org"}""", DisplayName = "invalid trust domain")]
    public void InvalidText_IsAJsonException(string json) =>
        Assert.ThrowsExactly<JsonException>(() => JsonSerializer.Deserialize<Caller>(json));
}
