// A hand-written fixture in the shape of @cdktf/provider-aws's generated code.
function thingConfigToHclTerraform(struct) {
    const attrs = {
        size: {
            value: cdktf.numberToHclTerraform(struct.size),
            isBlock: false,
            type: "simple",
            storageClassType: "number",
        },
    };
    return attrs;
}
class ThingConfigOutputReference extends cdktf.ComplexObject {
    // id - computed: true, optional: false, required: false
    get id() {
        return this.getStringAttribute('id');
    }
}
function thingRuleToHclTerraform(struct) {
    const attrs = {
        prefix: {
            value: cdktf.stringToHclTerraform(struct.prefix),
            isBlock: false,
            type: "simple",
            storageClassType: "string",
        },
    };
    return attrs;
}
class ThingRuleOutputReference extends cdktf.ComplexObject {
}
class Thing extends cdktf.TerraformResource {
    constructor(scope, id, config) {
        // config - computed: false, optional: false, required: true
        this._config = new ThingConfigOutputReference(this, "config");
        // rule - computed: false, optional: true, required: false
        this._rule = new ThingRuleList(this, "rule", true);
        // tags_all - computed: true, optional: false, required: false
        this._tagsAll = new cdktf.StringMap(this, "tags_all");
    }
    // arn - computed: true, optional: false, required: false
    get arn() {
        return this.getStringAttribute('arn');
    }
    synthesizeHclAttributes() {
        const attrs = {
            name: {
                value: cdktf.stringToHclTerraform(this._name),
                isBlock: false,
                type: "simple",
                storageClassType: "string",
            },
            ids: {
                value: cdktf.listMapperHcl(cdktf.stringToHclTerraform, false)(this._ids),
                isBlock: false,
                type: "set",
                storageClassType: "stringList",
            },
            config: {
                value: thingConfigToHclTerraform(this._config.internalValue),
                isBlock: true,
                type: "struct",
                storageClassType: "ThingConfigList",
            },
            rule: {
                value: cdktf.listMapperHcl(thingRuleToHclTerraform, true)(this._rule.internalValue),
                isBlock: true,
                type: "set",
                storageClassType: "ThingRuleList",
            },
        };
        return attrs;
    }
}
Thing.tfResourceType = "aws_thing";
